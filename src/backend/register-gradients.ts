/**
 * tfjs-core's CommonJS bundle (what Node loads) registers no gradient functions; the
 * union package's bundle does, as a side effect. Every backend needs them for PULSE's
 * backward pass, so this import must run before any gradient is taken.
 */
import '@tensorflow/tfjs';
