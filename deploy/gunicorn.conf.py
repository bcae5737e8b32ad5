"""gunicorn's settings for the web service, shared by the image (deploy/entrypoint.sh) and
``make run`` (scripts/run.sh); the bind address, workers and threads stay on their command lines.

The access log is gunicorn's default format without ``%(u)s``, the user name of an HTTP Basic
``Authorization`` header: a client that puts a secret there (a token as the user name) left it in
the log (issue 26). No other field of the format comes from a header that carries credentials.
"""

accesslog = "-"
access_log_format = '%(h)s %(l)s - %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
