"""The playground web page: static files served at ``/`` under a strict CSP."""
