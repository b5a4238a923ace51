package dev.rnnengine.spark;

import java.net.URI;
import org.apache.hadoop.fs.RawLocalFileSystem;

/**
 * The local disk under the scheme {@code rnntest:}, so the tests reach the code path of a remote
 * model (HDFS, S3): versions from the file system's status, local copies made and deleted.
 */
public class RemoteTestFileSystem extends RawLocalFileSystem {
    static final String SCHEME = "rnntest";

    @Override
    public URI getUri() {
        return URI.create(SCHEME + ":///");
    }

    @Override
    public String getScheme() {
        return SCHEME;
    }
}
