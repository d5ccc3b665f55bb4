//! Integration tests: the real binary on fixtures, ground truth from the
//! corpus generator, and property tests of the pipeline's invariants.

mod atomic;
mod cli;
mod compressed;
mod dask;
mod error_bodies;
mod escape;
mod fault_matrix;
mod follow;
mod formats;
mod fuzz_corpus;
mod ground_truth;
mod hostile;
mod input_warnings;
mod invariants;
mod k8s_manifest;
mod lines;
mod merge;
mod new_user;
mod nightly;
mod object_store;
mod operators;
mod outputs;
mod reader_modes;
mod serve;
mod support;
mod terminal;
mod trust;
mod util;
mod wrapped;
