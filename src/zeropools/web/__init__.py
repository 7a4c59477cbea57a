"""The dashboard: server-rendered pages for partner admins and operators at ``/dashboard``.

Pages call the same service functions as the API routes and render the same representations,
so there is no second business logic here: only sessions, CSRF, forms and HTML.
"""
