"""Storage helpers: atomic writes, record-chunked HDF5, a bounded worker pool."""
