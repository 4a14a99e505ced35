"""The process runner: a job or a serving variant as local processes (namespaces, cgroups where the machine allows)."""
