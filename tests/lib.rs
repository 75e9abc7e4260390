//! End-to-end tests live in `it/`; this library is empty.
//!
//! They start banksync, bookkeeping and billing with `dk-testkit` against the PostgreSQL and
//! RabbitMQ servers on 127.0.0.1, each test with fresh databases and its own exchanges and queues.
