// Starts Swagger UI on /schema. A file rather than an inline script, because the
// Content-Security-Policy of these pages allows scripts from this origin only.
window.addEventListener("DOMContentLoaded", () => {
  window.ui = SwaggerUIBundle({
    url: "/schema/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    displayOperationId: true,
    // The default badge asks validator.swagger.io about the schema: no calls out.
    validatorUrl: null,
  });
});
