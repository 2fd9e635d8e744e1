//! End-to-end tests: the real `coracle` binary, driven by real kubectl 1.27 and 1.33.

mod harness;

mod cli;
mod smoke;
