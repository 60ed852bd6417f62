DROP TABLE wishes;
DROP TABLE service_requests;
DROP TABLE residents;
