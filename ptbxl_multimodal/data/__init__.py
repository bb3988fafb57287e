"""PTB-XL data: fetching, WFDB records, metadata tables and labels, splits, the processed and feature files."""
