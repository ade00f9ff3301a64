"""Changing a credential's record after it was awarded: `sitegen revoke` (see docs/lifecycle.md).

These commands edit the operator's own record files in credentials_data/, so they change
only the bytes of the fields they set, check the result with the same readers the build
uses, and replace the file atomically. The next build and publish do the rest.
"""
