//! The analytics engine: KPIs from daily rollups, the performance score, the detectors that
//! raise alerts, and reports as data.

pub mod charts;
pub mod detect;
pub mod forecast;
pub mod kpi;
pub mod model;
pub mod render;
pub mod report;
pub mod score;
pub mod sentiment;
pub mod service;
