"""The OpenAPI 3.1 description of aihub's routes (GET /openapi.json), built from the route table
(app.py) and the pydantic wire models (chalicelib/api); `operations` says what each handler takes
and answers, `document` assembles the spec."""
