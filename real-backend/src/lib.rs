//! Placeholder, replaced by the driver.
