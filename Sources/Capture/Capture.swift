// Capture: placeholder until the stage lands.
