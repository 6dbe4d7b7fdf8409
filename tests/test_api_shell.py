"""The JSON API's shell: one OpenAPI schema, JSON errors."""


def test_openapi_schema_is_served(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "System Design Playground API"


def test_unknown_api_path_is_a_404(client):
    assert client.get("/api/no-such-thing").status_code == 404
