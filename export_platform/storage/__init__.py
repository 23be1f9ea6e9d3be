"""Object storage for dataset frames and export artifacts: a local folder or an S3 bucket."""
