// Pipeline: placeholder until the stage lands.
