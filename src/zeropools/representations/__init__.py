"""The API's JSON objects, built without FastAPI: used by routes, events and pages."""
