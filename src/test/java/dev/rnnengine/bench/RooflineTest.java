package dev.rnnengine.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The report's roofline on a synthetic machine, worked by hand: which level each weight is read
 * from decides most of these numbers, and a wrong level is what made the old report call a
 * single step 2.8x off its limit.
 */
class RooflineTest {
    private static final long KB = 1024;
    private static final long MB = 1024 * KB;
    // 48 KB L1d, 2 MB L2, 32 MB L3; 100 GFLOP/s per core; reads: L1 150, L2 80, L3 30, DRAM 10 GB/s.
    private static final Machine M = new Machine("test CPU", "test", 2, 48 * KB, 2 * MB, 32 * MB, 100,
        new long[] {32 * KB, 1 * MB, 2 * MB, 16 * MB, 512 * MB}, new double[] {150, 80, 80, 30, 10});

    private static double ms(double bytes, double gbps) {
        return bytes / (gbps * 1e9) * 1e3;
    }

    @Test
    void aSingleStepStreamsEveryWeightFromTheLevelTheWholeModelFitsIn() {
        Shapes.Shape s = Shapes.get("lstm2_step_b1"); // 2 layers of LSTM 128 -> 256: 3.7 MB of weights
        // W_ih of both layers once and W_hh of both layers once: at 1 thread 3.7 MB > 2 MB L2, so the
        // L2 keeps 2 MB of them between calls (at its 80 GB/s) and the rest comes from L3.
        double bytes = s.inputBytes(0) + s.inputBytes(1) + 2 * s.recurrentBytesPerStep();
        Report.Roof one = Report.roofline(M, s, 1);
        double all = s.weightBytes(); // the L2's share is of every weight, biases too
        assertEquals(bytes / all * (ms(2 * MB, 80) + ms(all - 2 * MB, 30)), one.ms(), 1e-3 * one.ms());
        assertEquals("weights from L2 and L3", one.bound());
        // At 2 threads each core streams half (1.85 MB): L2, at twice the cores.
        Report.Roof two = Report.roofline(M, s, 2);
        assertEquals(ms(bytes, 160), two.ms(), 1e-3 * two.ms());
        assertEquals("weights from L2", two.bound());
    }

    @Test
    void aSequenceReusesOneLayersRecurrentWeightsFromTheirOwnLevel() {
        // lstm_small_b1: W_hh 1 MB per step from L2, 100 steps; W_ih (512 KB) once from where the whole
        // model (1.6 MB) sits, also L2; the input GEMM's flops (26 MFLOP at 100 GFLOP/s) outweigh that read.
        Shapes.Shape s = Shapes.get("lstm_small_b1");
        double inputFlops = 2.0 * 4 * 256 * 128 * 100;
        double expected = inputFlops / 100e9 * 1e3 + 100 * ms(s.recurrentBytesPerStep(), 80);
        Report.Roof r = Report.roofline(M, s, 1);
        assertEquals(expected, r.ms(), 1e-3 * expected);
        assertEquals("weights from L2", r.bound());
        // lstm_512_b1: W_hh is 4 MB, so at 1 thread 2 MB of it from L2 and 2 MB from L3 every step (25);
        // the input GEMM's 52 MFLOP outweigh reading W_ih. 2 MB per core at 2 threads, so all from L2.
        Shapes.Shape big = Shapes.get("lstm_512_b1");
        Report.Roof bigOne = Report.roofline(M, big, 1);
        assertEquals("weights from L2 and L3", bigOne.bound());
        double bigInput = 2.0 * 4 * 512 * 512 * 25 / 100e9 * 1e3;
        assertEquals(bigInput + 25 * (ms(2 * MB, 80) + ms(2 * MB, 30)), bigOne.ms(), 1e-3 * bigOne.ms());
        assertEquals("weights from L2", Report.roofline(M, big, 2).bound());
    }

    @Test
    void aSetBetweenTheL1AndTheL2IsReadAtTheL2sSpeed() {
        // The sweep's 2 MB point overflows a 2 MB L2 (here 40 GB/s), yet a 1.5 MB or a 2 MB set fits
        // it: the L2's speed, the sweep's at half the L2 (80), bounds them, and a 60 KB set past the
        // 48 KB L1d too. Within the L1d, and past the L2, the first point that holds the set.
        Machine m = new Machine("test CPU", "test", 2, 48 * KB, 2 * MB, 32 * MB, 100,
            new long[] {32 * KB, 1 * MB, 2 * MB, 16 * MB, 512 * MB}, new double[] {150, 80, 40, 30, 10});
        assertEquals(80, m.bandwidthFor(1.5 * MB), 0);
        assertEquals(80, m.bandwidthFor(2 * MB), 0);
        assertEquals(80, m.bandwidthFor(60 * KB), 0);
        assertEquals(150, m.bandwidthFor(8 * KB), 0);
        assertEquals(80, m.bandwidthFor(40 * KB), 0); // in the L1d, held first by the 1 MB point
        assertEquals(30, m.bandwidthFor(3 * MB), 0);
    }

    @Test
    void bidirectionalSlicesAreOneDirectionsWeights() {
        // gru:384:384:100:1 bidirectional: one direction's W_hh is 1.7 MB (L2), both 3.5 MB (L3). At 1 thread
        // the directions run one after the other, at 2 each on its own core: 1.7 MB per core either way.
        Shapes.Shape s = Shapes.get("gru:384:384:100:1:1:bi");
        double perStep = s.recurrentBytesPerStep(); // both directions
        double input = 2.0 * 3 * 384 * 384 * 100 * 2 / 100e9 * 1e3; // the flops outweigh reading W_ih
        Report.Roof one = Report.roofline(M, s, 1);
        assertEquals("weights from L2", one.bound());
        assertEquals(input + 100 * ms(perStep, 80), one.ms(), 1e-3 * one.ms());
        Report.Roof two = Report.roofline(M, s, 2);
        assertEquals("weights from L2", two.bound());
        assertEquals(input / 2 + 100 * ms(perStep, 160), two.ms(), 1e-3 * two.ms());
    }
}
