/** Entry point of the Pulumi program (Pulumi.yaml `main`). */
import { stackProgram } from "./program";

export = stackProgram();
