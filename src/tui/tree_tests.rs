//! Tests of the tree view model on hand-built layers.
