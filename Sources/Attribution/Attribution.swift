// Attribution: placeholder until the stage lands.
