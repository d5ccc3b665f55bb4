//! Byte decoders shared by the format parsers and the filters: JSON
//! scanning, numbers, request-line text and timestamps. They know nothing
//! of records or formats, so format parsers import these instead of one
//! another.

pub mod json;
pub mod number;
pub mod text;
pub mod time;
