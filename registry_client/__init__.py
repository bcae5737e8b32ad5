"""The registry's v2 API client: imports no app, and every app may import it."""
