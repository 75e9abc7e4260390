//! Generated protobuf and gRPC code for every service and event, plus the conversions between
//! those wire types and the domain types of `dk-domain`.
//!
//! Generated types stay at the edge: services convert them here and work with domain types.

pub mod convert;

/// Encoded `FileDescriptorSet` of all contracts, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin"));

pub mod common {
    pub mod v1 {
        tonic::include_proto!("dk.common.v1");
    }
}

pub mod banksync {
    pub mod v1 {
        tonic::include_proto!("dk.banksync.v1");
    }
}

pub mod bookkeeping {
    pub mod v1 {
        tonic::include_proto!("dk.bookkeeping.v1");
    }
}

pub mod billing {
    pub mod v1 {
        tonic::include_proto!("dk.billing.v1");
    }
}

pub mod support {
    pub mod v1 {
        tonic::include_proto!("dk.support.v1");
    }
}

pub mod events {
    pub mod v1 {
        tonic::include_proto!("dk.events.v1");
    }
}
