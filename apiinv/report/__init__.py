"""The reports: dated Excel workbooks, JSON documents and CSV files for security teams."""
