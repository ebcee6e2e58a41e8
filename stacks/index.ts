/** Entry point of the Pulumi program (Pulumi.yaml `main`). */
import * as pulumi from "@pulumi/pulumi";
import { readStackConfig, runStack } from "./program";

export = runStack(readStackConfig(new pulumi.Config()));
