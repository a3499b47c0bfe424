// The bank's /docs: Swagger UI over /openapi.json, with nothing fetched from elsewhere.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // Off: the default sends the document to an outside validator and shows its badge.
  validatorUrl: null,
  // The bearer token entered under Authorize is sent with every "Try it out".
  persistAuthorization: false,
  tryItOutEnabled: false,
  displayRequestDuration: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
