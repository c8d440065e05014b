"""SageMaker's state, one module per resource family: the resource objects (each knows its
describe and summary form) and the family's operations. Families use the runners below them
(``..runners``) to execute; nothing here is imported by the runners."""
