/**
 * The package's entry point as Pulumi's component analyzer reads it (`pulumi package add`):
 * the analyzer looks for TypeScript sources, and `main`/`exports` name the compiled JavaScript.
 */
export * from "./components";
