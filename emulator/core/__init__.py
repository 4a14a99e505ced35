"""Wire-level pieces shared by every AWS service mlharbor serves itself (pure, no Flask)."""
