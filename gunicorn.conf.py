"""gunicorn settings for the web process (the Procfile passes ``--config gunicorn.conf.py``).

The access log leaves out query strings and the Referer: the OAuth callback's ``spapi_oauth_code`` and
``state``, and the Login URI's ``amazon_state``, travel in query strings, and a log is no place for them.
"""

# %(U)s is the path without the query; %(r)s (the default's request line) would include it.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(M)sms'
