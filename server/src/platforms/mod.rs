//! Comments from the akimat's social-media accounts, gathered into the meeting's channel.

pub mod clients;
pub mod connector;
