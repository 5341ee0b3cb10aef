//! splitledger storage on PostgreSQL and SQLite (being built; see issue 3).
