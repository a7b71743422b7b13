// Reports: placeholder until the stage lands.
