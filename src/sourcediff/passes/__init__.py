"""The compiler's passes, one module each; `sourcediff.pipeline` lists them in order."""
