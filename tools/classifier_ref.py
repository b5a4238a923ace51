"""The reference forward pass of a sentence classifier, as PyTorch users write it; shared by
the training script and the golden-case generator."""
import torch


class SentenceClassifier(torch.nn.Module):
    def __init__(self, vocab_size, embed_dim, rnn, num_classes, pooling, pad_index):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab_size, embed_dim, padding_idx=pad_index)
        self.rnn = rnn
        dirs = 2 if rnn.bidirectional else 1
        h_out = getattr(rnn, "proj_size", 0) or rnn.hidden_size
        self.fc = torch.nn.Linear(dirs * h_out, num_classes)
        self.pooling = pooling

    def forward(self, tokens, lengths):
        """tokens (N, T) int64, lengths (N): logits (N, C)."""
        x = self.embedding(tokens)
        if not self.rnn.batch_first:
            x = x.transpose(0, 1)
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=self.rnn.batch_first,
                                                         enforce_sorted=False)
        out, h = self.rnn(packed)
        if isinstance(h, tuple):
            h = h[0]
        if self.pooling == "last":
            feat = torch.cat([h[-2], h[-1]], dim=1) if self.rnn.bidirectional else h[-1]
        else:
            y, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=tokens.shape[1])
            mask = (torch.arange(tokens.shape[1])[None, :] < lengths[:, None]).unsqueeze(2)
            if self.pooling == "mean":
                feat = (y * mask).sum(1) / lengths[:, None].to(y.dtype)
            else:
                feat = y.masked_fill(~mask, float("-inf")).max(1).values
        return self.fc(feat)
