//! splitledger browser module (being built; see issue 5).
