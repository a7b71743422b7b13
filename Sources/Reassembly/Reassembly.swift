// Reassembly: placeholder until the stage lands.
