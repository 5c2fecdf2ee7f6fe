"""Applicant and officer pages for applications."""
