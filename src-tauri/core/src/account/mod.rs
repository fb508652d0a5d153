//! Account pools: meeting accounts a pool's bots use, read from an
//! administrator's query ([`query`]) or a directory.

pub mod builder;
pub mod lease;
pub mod query;
pub mod source;
