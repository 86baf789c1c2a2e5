//! Placeholder; the owning issue replaces this.
