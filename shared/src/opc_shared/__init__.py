"""Platform library shared by the four OPC One-Stop services. Holds no business rules."""
