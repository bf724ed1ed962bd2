//! Integration tests: each boots the real server with `kezdesu::run` on 127.0.0.1:0 and a
//! temporary data folder, and talks to it over HTTP as a client would.

mod boundaries;
mod civil;
mod engine_boundary;
mod local_zone;
mod sources;
mod support;

mod accounts;
mod binary;
mod calendar;
mod cluster;
mod destinations;
mod errors;
mod hls;
mod input_fuzz;
mod live;
mod live_fuzz;
mod media;
mod meetings;
mod platforms;
mod postgres;
mod protocol;
mod recordings;
mod register;
mod results;
mod system;
mod timer;
mod yearly;
