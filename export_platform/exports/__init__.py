"""Export assets: each dataset rendered to CSV, Excel and PDF artifacts in the artifact store."""
