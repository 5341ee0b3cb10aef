//! splitledger HTTP server (being built; see issue 4).
