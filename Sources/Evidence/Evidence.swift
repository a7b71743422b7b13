// Evidence: placeholder until the stage lands.
