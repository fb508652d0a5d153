//! Account pools: meeting accounts a pool's bots use, read from an
//! administrator's query ([`query`], checked by [`filter`]) or a directory.

pub mod builder;
pub mod filter;
pub mod lease;
pub mod query;
pub mod role;
pub mod source;
