"""AWS Glue: the job API (jobs, runs, bookmarks) and connections, served by us; the Data Catalog stays moto's."""
